import { loadConfig, type DeploymentConfig } from '../../config';
import type { DockerState } from '../../docker-probe';
import { UserError } from '../../../trainer/src/user-error';
import type { AwsClients } from '../aws-clients';
import { checkBootstrap } from './bootstrap-check';
import { type CheckReport, type CheckResult, report } from './check-result';
import { costNotice } from './cost-notice';
import { checkCredentials, type RegionSource } from './credentials-check';
import { checkGpuQuotas } from './gpu-quota-check';
import { checkImages, notifyEmailNotice } from './image-check';
import { checkOfferings } from './offering-check';
import { checkPermissions } from './permission-check';
import type { SynthFacts } from './synth-facts';
import { checkTrainerAmi } from './trainer-ami-check';

/** What `npm run cloud:check` is given from outside: replaced in tests. */
export interface CloudCheckDeps {
  readonly clients: (region: string) => AwsClients;
  readonly docker: () => DockerState;
  readonly synth: (context: Record<string, unknown>, config: DeploymentConfig, env: { account: string; region: string }) => Promise<SynthFacts>;
  /** The region of the AWS profile in use, if it names one. */
  readonly profileRegion: () => Promise<string | undefined>;
  readonly env: NodeJS.ProcessEnv;
}

/** The region `cdk deploy` would use: the CDK CLI's order, and us-east-1 when nothing names one. */
export async function resolveRegion(flag: string | undefined, deps: Pick<CloudCheckDeps, 'env' | 'profileRegion'>): Promise<{ region: string; source: RegionSource }> {
  if (flag) return { region: flag, source: '--region' };
  if (deps.env.AWS_REGION) return { region: deps.env.AWS_REGION, source: 'AWS_REGION' };
  if (deps.env.AWS_DEFAULT_REGION) return { region: deps.env.AWS_DEFAULT_REGION, source: 'AWS_DEFAULT_REGION' };
  const profile = await deps.profileRegion();
  return profile ? { region: profile, source: 'your AWS profile' } : { region: 'us-east-1', source: 'none set' };
}

export interface Where {
  readonly envName: string;
  readonly account: string;
  readonly region: string;
}

/**
 * Every check, in the order a first deploy meets them. Without credentials, or with a
 * configuration the app refuses, the rest cannot be checked and is not. `onStart` hears where the
 * checks look once the credentials are known.
 */
export async function runCloudCheck(
  context: Record<string, unknown>, regionFlag: string | undefined, deps: CloudCheckDeps, onStart: (where: Where) => void = () => undefined,
): Promise<CheckReport> {
  const { region, source } = await resolveRegion(regionFlag, deps);
  const clients = deps.clients(region);
  const credentials = await checkCredentials(clients, region, source);
  if (!credentials.identity) return report([credentials.result], { region });
  const { account } = credentials.identity;
  const envName = String(context.env ?? 'dev');
  const where = { envName, account, region };
  onStart(where);

  let config: DeploymentConfig;
  try {
    config = loadConfig(context);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    const [, ...problems] = error.message.split('\n').map((line) => line.trim());
    return report([credentials.result, {
      id: 'configuration', title: 'configuration', status: 'fail', summary: `cdk.json "context" and -c values: ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing else was checked`, fix: problems,
    }], where);
  }
  const configuration: CheckResult = {
    id: 'configuration', title: 'configuration', status: 'pass',
    summary: `env ${config.envName}: trainer ${config.spot ? 'spot ' : ''}${config.instanceType}, sweeps up to ${config.sweepMaxInstances} × ${config.sweepInstanceType}`
      + `${config.allowedCidrs.length ? `, MLflow open to ${config.allowedCidrs.join(', ')}` : ', MLflow through a tunnel only'}${config.serve ? ', model server' : ''}`,
  };
  let facts: SynthFacts | undefined;
  let synth: CheckResult;
  try {
    facts = await deps.synth(context, config, { account, region });
    synth = { id: 'synth', title: 'synth', status: 'pass', summary: 'the stacks synthesize for this account and region, cdk-nag included' };
  } catch (error) {
    synth = { id: 'synth', title: 'synth', status: 'fail', summary: `the app does not synthesize: ${(error as Error).message.split('\n')[0]}`, fix: [`npx cdk synth -c env=${config.envName} shows it in full`] };
  }

  const [quotas, offerings, bootstrap, ami, permissions, images] = await Promise.all([
    checkGpuQuotas(clients, config, region),
    checkOfferings(clients, config, context, account, region),
    facts ? checkBootstrap(clients, facts, account, region) : undefined,
    checkTrainerAmi(clients, context, account, region),
    checkPermissions(clients, credentials.identity),
    checkImages(clients, config, deps.docker, region),
  ]);
  const warnings = (facts?.warnings ?? []).map((warning, i): CheckResult => ({ id: `synth-warning-${i + 1}`, title: 'deploy warns', status: 'info', summary: warning }));
  return report([
    credentials.result, configuration, synth, ...quotas, ...offerings, ...(bootstrap ? [bootstrap] : []), ami, permissions, images,
    notifyEmailNotice(config), ...warnings, costNotice(config, region),
  ], where);
}
