import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../aws-clients';
import type { CheckResult } from './check-result';
import { awsErrorOf } from './aws-errors';

export interface Identity {
  readonly arn: string;
  readonly account: string;
}

/** Where the region came from, in words. */
export type RegionSource = '--region' | 'AWS_REGION' | 'AWS_DEFAULT_REGION' | 'your AWS profile' | 'none set';

/**
 * Who the credentials are and where they point. Without credentials nothing else can be checked,
 * so that failure says everything in its summary: it is the only line printed.
 */
export async function checkCredentials(clients: AwsClients, region: string, source: RegionSource): Promise<{ result: CheckResult; identity?: Identity }> {
  const where = source === 'none set' ? `region ${region} (none set: cdk deploy uses ${region} then too; set AWS_REGION or pass --region)` : `region ${region} (from ${source})`;
  try {
    const response = await clients.sts.send(new GetCallerIdentityCommand({}));
    const identity = { arn: response.Arn ?? '?', account: response.Account ?? '?' };
    return { identity, result: { id: 'credentials', title: 'credentials', status: 'pass', summary: `${identity.arn}, account ${identity.account}, ${where}` } };
  } catch (error) {
    const { name, message } = awsErrorOf(error);
    const code = (error as { code?: string }).code;
    let summary: string;
    if (name === 'CredentialsProviderError') {
      summary = `no AWS credentials (${message}): run \`aws configure\` or \`aws sso login\`, or set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); nothing else was checked`;
    } else if ((error as { $metadata?: unknown }).$metadata) {
      summary = `AWS refused the credentials (${name}: ${message}): renew them (\`aws sso login\`, or new access keys); nothing else was checked`;
    } else if (code) {
      summary = `could not reach AWS in ${region} (${code}: ${message}): check the network, a proxy (HTTPS_PROXY) or the region; nothing else was checked`;
    } else {
      throw error;
    }
    return { result: { id: 'credentials', title: 'credentials', status: 'fail', summary } };
  }
}
