import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { DeploymentConfig } from '../../config';
import { addMalariaStacks } from '../../malaria-app';

/** What a synth of this app, for this context and account, tells about its deploy. */
export interface SynthFacts {
  /** The CDK bootstrap stack version its templates, assets and lookups need. */
  readonly requiredBootstrapVersion: number;
  /** Why that version: what in the app needs it. */
  readonly requiredBy: string;
  /** The SSM parameter where the bootstrap stack records its version. */
  readonly bootstrapVersionParameter: string;
  /** The warnings synth and deploy print (trainOnDeploy, openToInternet). */
  readonly warnings: readonly string[];
}

interface BootstrapProperties {
  readonly requiresBootstrapStackVersion?: number;
  readonly bootstrapStackVersionSsmParameter?: string;
  readonly lookupRole?: { readonly requiresBootstrapStackVersion?: number };
}

/**
 * Synthesizes the app as `cdk deploy` would, into a folder that is removed afterwards. Assets are
 * not staged (nothing is copied or built) and CloudFormation's template validation is left to
 * `cdk synth`; cdk-nag runs as always.
 */
export function synthFacts(context: Record<string, unknown>, config: DeploymentConfig, env: { account: string; region: string }): SynthFacts {
  const outdir = mkdtempSync(path.join(tmpdir(), 'cloud-check-'));
  try {
    const app = new App({
      // The warnings are read from the assembly and shown as lines of the check, not as CDK's report on stderr.
      context: { ...context, 'aws:cdk:disable-asset-staging': true, 'aws:cdk:disable-stack-trace': true, '@aws-cdk/core:annotationsInValidationReport': false },
      outdir,
      builtinCloudFormationValidation: false,
    });
    addMalariaStacks(app, config, env);
    return factsOf(app.synth());
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * The bootstrap version the assembly asks for: each stack and asset manifest names the version its
 * deploy roles and asset locations need, and while context is missing (the availability zones and
 * the trainer AMI not yet in cdk.context.json) the CLI looks it up through the lookup role, which
 * names its own.
 */
export function factsOf(assembly: CloudAssembly): SynthFacts {
  const lookups = (assembly.manifest.missing ?? []).map((m) => m.provider);
  let required = 0;
  let requiredBy = 'nothing';
  let parameter = '/cdk-bootstrap/hnb659fds/version';
  const need = (version: number | undefined, why: string) => {
    if (version !== undefined && version > required) [required, requiredBy] = [version, why];
  };
  for (const artifact of assembly.artifacts) {
    const props = (artifact.manifest.properties ?? {}) as BootstrapProperties;
    need(props.requiresBootstrapStackVersion, 'its deploy roles and assets');
    if (lookups.length) need(props.lookupRole?.requiresBootstrapStackVersion, `its lookups (${[...new Set(lookups)].join(', ')}) through the lookup role`);
    parameter = props.bootstrapStackVersionSsmParameter ?? parameter;
  }
  const warnings = assembly.stacks.flatMap((stack) => stack.messages
    .filter((m) => m.level === 'warning')
    .map((m) => String(m.entry.data).replace(/ \[ack: [^\]]+\]$/, '')));
  return { requiredBootstrapVersion: required, requiredBy, bootstrapVersionParameter: parameter, warnings };
}
