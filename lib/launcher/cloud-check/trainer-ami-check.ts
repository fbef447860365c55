import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { TRAINER_AMI_PARAMETER } from '../../config';
import type { AwsClients } from '../aws-clients';
import type { CheckResult } from './check-result';
import { awsErrorOf, couldNotLook } from './aws-errors';
import { ssmParameterKey } from './deploy-context';

const TITLE = 'trainer AMI';

/** The public parameter of the Deep Learning AMI answers in the region, unless cdk.context.json pins an AMI already. */
export async function checkTrainerAmi(clients: AwsClients, context: Record<string, unknown>, account: string, region: string): Promise<CheckResult> {
  const pinned = context[ssmParameterKey(account, region, TRAINER_AMI_PARAMETER)];
  if (typeof pinned === 'string') return { id: 'trainer-ami', title: TITLE, status: 'pass', summary: `${pinned}, pinned in cdk.context.json` };
  try {
    const response = await clients.ssm.send(new GetParameterCommand({ Name: TRAINER_AMI_PARAMETER }));
    return { id: 'trainer-ami', title: TITLE, status: 'pass', summary: `${response.Parameter?.Value} in ${region} (the first deploy pins it in cdk.context.json: commit that file)` };
  } catch (error) {
    if (awsErrorOf(error).name === 'ParameterNotFound') {
      return {
        id: 'trainer-ami', title: TITLE, status: 'fail', summary: `the Deep Learning Base OSS Nvidia Driver AMI is not published in ${region} (${TRAINER_AMI_PARAMETER})`,
        fix: [`deploy to a region that has it; to check one: aws ssm get-parameter --region <region> --name ${TRAINER_AMI_PARAMETER}`],
      };
    }
    return couldNotLook('trainer-ami', TITLE, TRAINER_AMI_PARAMETER, error, 'ssm:GetParameter');
  }
}
