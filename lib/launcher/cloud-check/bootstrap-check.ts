import { GetParameterCommand } from '@aws-sdk/client-ssm';
import type { AwsClients } from '../aws-clients';
import type { CheckResult } from './check-result';
import { awsErrorOf, couldNotLook } from './aws-errors';
import type { SynthFacts } from './synth-facts';

const TITLE = 'CDK bootstrap';

/** The account and region bootstrapped for CDK, with a version recent enough for what this app's synth asks. */
export async function checkBootstrap(clients: AwsClients, facts: SynthFacts, account: string, region: string): Promise<CheckResult> {
  const command = `npx cdk bootstrap aws://${account}/${region}`;
  const who = '(once per account and region, by someone who may create IAM roles, an S3 bucket and an ECR repository; it takes a few minutes)';
  let version: number;
  try {
    const response = await clients.ssm.send(new GetParameterCommand({ Name: facts.bootstrapVersionParameter }));
    version = Number(response.Parameter?.Value);
  } catch (error) {
    if (awsErrorOf(error).name === 'ParameterNotFound') {
      return { id: 'bootstrap', title: TITLE, status: 'fail', summary: `account ${account} is not bootstrapped in ${region} (no ${facts.bootstrapVersionParameter})`, fix: [command, who] };
    }
    return couldNotLook('bootstrap', TITLE, facts.bootstrapVersionParameter, error, 'ssm:GetParameter');
  }
  const need = `this app needs ${facts.requiredBootstrapVersion} or later for ${facts.requiredBy}`;
  if (!(version >= facts.requiredBootstrapVersion)) {
    return { id: 'bootstrap', title: TITLE, status: 'fail', summary: `version ${version} in ${region}; ${need}`, fix: [`${command} (updates the bootstrap stack in place)`, who] };
  }
  return { id: 'bootstrap', title: TITLE, status: 'pass', summary: `version ${version} in ${region}; ${need}` };
}
