export * from './fake-mlflow';
export type { ArtifactMode } from './fake-http';
export * from './fake-state';
