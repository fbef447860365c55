export interface ComparisonOptions {
  readonly title: string;
  /** Members that left no run to compare, with the reason. */
  readonly missing?: readonly { readonly name: string; readonly reason: string }[];
}

export interface ComparisonResult {
  readonly report: string;
  readonly summary: Record<string, number>;
}

export async function writeComparison(folder: string, runDirs: readonly string[], options: ComparisonOptions): Promise<ComparisonResult> {
  throw new Error(`not yet: ${folder} ${runDirs.length} ${options.title}`);
}
