import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import { buildApp, type BuiltApp } from './build-app';
import { allowStatements, asArray, joined, resourcesOfType, text } from './template-queries';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const TRAINER = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/malaria/trainer@${digest('a')}`;
const MLFLOW = `ghcr.io/acme/mlflow@${digest('b')}`;

/** Container images the CDK CLI would have to build with Docker, per stack. */
function dockerAssets(built: BuiltApp): Record<string, number> {
  const manifests = built.app.synth().artifacts.filter((a): a is AssetManifestArtifact => a instanceof AssetManifestArtifact);
  return Object.fromEntries(manifests.map((m) => [m.id, Object.keys(m.contents.dockerImages ?? {}).length]));
}

const userData = (built: BuiltApp) => joined(resourcesOfType(built.training, 'AWS::EC2::LaunchTemplate')[0][1].Properties?.LaunchTemplateData.UserData['Fn::Base64']);
const imagesOf = (built: BuiltApp, stack: 'tracking' | 'training') => resourcesOfType(built[stack], 'AWS::ECS::TaskDefinition')
  .flatMap(([, task]) => task.Properties?.ContainerDefinitions.map((c: { Image: unknown }) => joined(c.Image)));

describe('prebuilt images (-c trainerImage=… -c mlflowImage=…)', () => {
  let built: BuiltApp;
  beforeAll(() => {
    built = buildApp({ trainerImage: TRAINER, mlflowImage: MLFLOW, serve: true });
  });

  test('the templates have no container asset: cdk deploy needs no Docker', () => {
    expect(dockerAssets(built)).toEqual({ 'MalariaTracking-dev.assets': 0, 'MalariaTraining-dev.assets': 0 });
    expect(dockerAssets(buildApp())).toEqual({ 'MalariaTracking-dev.assets': 1, 'MalariaTraining-dev.assets': 1 });
  });

  test('the trainer, the model server and MLflow run the images by digest', () => {
    expect(userData(built)).toContain(`export TRAINER_IMAGE='${TRAINER}'`);
    expect(imagesOf(built, 'training')).toEqual([TRAINER]);
    expect(imagesOf(built, 'tracking')).toEqual([MLFLOW]);
  });

  test('pulling is granted on the named ECR repository only; a public registry needs no grant', () => {
    const pulls = allowStatements(built.training).filter((s) => asArray(s.Action).includes('ecr:BatchGetImage'));
    expect(pulls.length).toBeGreaterThan(0);
    for (const statement of pulls) expect(text(statement.Resource)).toContain(':ecr:eu-west-1:123456789012:repository/malaria/trainer');
    expect(allowStatements(built.tracking).filter((s) => asArray(s.Action).includes('ecr:BatchGetImage'))).toEqual([]);
  });

  test('the deploy-started run is named after the digest: a new image names a new run', () => {
    const other = buildApp({ trainerImage: TRAINER.replace(digest('a'), digest('c')) });
    expect(other.stacks.training.runId).not.toBe(built.stacks.training.runId);
    expect(buildApp({ trainerImage: TRAINER }).stacks.training.runId).toBe(built.stacks.training.runId);
  });
});

describe('building in AWS (-c imageBuild=codebuild)', () => {
  let built: BuiltApp;
  beforeAll(() => {
    built = buildApp({ imageBuild: 'codebuild', serve: true });
  });

  test('no container asset either: the sources go up as a file asset and CodeBuild builds them', () => {
    expect(dockerAssets(built)).toEqual({ 'MalariaTracking-dev.assets': 0, 'MalariaTraining-dev.assets': 0 });
    for (const stack of ['tracking', 'training'] as const) {
      const [, project] = resourcesOfType(built[stack], 'AWS::CodeBuild::Project')[0];
      expect(project.Properties?.Environment).toMatchObject({ Type: 'LINUX_CONTAINER', PrivilegedMode: true });
      expect(resourcesOfType(built[stack], 'AWS::ECR::Repository')).toHaveLength(1);
      expect(resourcesOfType(built[stack], 'Custom::CDKContainerImageBuild')).toHaveLength(1);
    }
  });

  test('the stacks run the pushed image by the digest ECR reports for its tag', () => {
    const [id, lookup] = resourcesOfType(built.training, 'Custom::ImageDigest')[0];
    expect(joined(lookup.Properties?.Create)).toMatch(/"service":"ECR","action":"describeImages".*"imageTag":"\{\{"Fn::GetAtt":\["TrainerImageCodeBuild\w+","ImageTag"\]\}\}"/);
    expect(userData(built)).toMatch(new RegExp(`export TRAINER_IMAGE='\\{.*TrainerImageCodeBuildRepository\\w+.*\\}@\\{\\{"Fn::GetAtt":\\["${id}","imageDetails.0.imageDigest"\\]\\}\\}'`));
    expect(imagesOf(built, 'training')[0]).toContain(`"Fn::GetAtt":["${id}","imageDetails.0.imageDigest"]`);
    expect(imagesOf(built, 'tracking')[0]).toMatch(/@\{\{"Fn::GetAtt":\["MlflowImageCodeBuildDigest\w+","imageDetails.0.imageDigest"\]\}\}$/);
  });

  test('the image tag is the sources\' fingerprint, which names the deploy-started run', () => {
    const [, build] = resourcesOfType(built.training, 'Custom::CDKContainerImageBuild')[0];
    expect(build.Properties?.imageTag).toMatch(/^[0-9a-f]{64}$/);
    expect(build.Properties?.buildCommand).toContain('--file trainer/Dockerfile --platform linux/amd64');
  });

  test('builds log to a group of the stack\'s own, deleted with it', () => {
    const [, project] = resourcesOfType(built.training, 'AWS::CodeBuild::Project')[0];
    const group = project.Properties?.LogsConfig.CloudWatchLogs;
    expect(group.Status).toBe('ENABLED');
    const [, logGroup] = resourcesOfType(built.training, 'AWS::Logs::LogGroup').find(([logicalId]) => logicalId === group.GroupName.Ref)!;
    expect(logGroup.DeletionPolicy).toBe('Delete');
  });
});
