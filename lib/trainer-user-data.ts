import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

export const BOOT_SCRIPT_PATH = path.join(__dirname, 'trainer-boot.sh');

/** What the boot script needs to know, each becoming one exported variable in front of it. */
export interface TrainerBootSettings {
  readonly maxRuntimeMinutes: number;
  readonly trainerImage: string;
  readonly region: string;
  readonly bucket: string;
  readonly logGroup: string;
  readonly runParameter: string;
  readonly outcomeParameter: string;
  readonly mlflowTrackingUri: string;
  readonly mlflowSecretArn: string;
  readonly mlflowExperimentName: string;
  /** Where people open MLflow; the base of the run link in notices. */
  readonly mlflowUiUrl: string;
  /** @default no notices */
  readonly notifyTopicArn?: string;
}

/** The variable names the boot script reads (see its header). */
export function bootEnvironment(settings: TrainerBootSettings): Record<string, string> {
  return {
    MAX_RUNTIME_MINUTES: String(settings.maxRuntimeMinutes),
    TRAINER_IMAGE: settings.trainerImage,
    AWS_REGION: settings.region,
    BUCKET: settings.bucket,
    LOG_GROUP: settings.logGroup,
    RUN_PARAMETER: settings.runParameter,
    OUTCOME_PARAMETER: settings.outcomeParameter,
    MLFLOW_TRACKING_URI: settings.mlflowTrackingUri,
    MLFLOW_SECRET_ARN: settings.mlflowSecretArn,
    MLFLOW_EXPERIMENT_NAME: settings.mlflowExperimentName,
    MLFLOW_UI_URL: settings.mlflowUiUrl,
    NOTIFY_TOPIC_ARN: settings.notifyTopicArn ?? '',
  };
}

/** User data: the settings as single-quoted exports (AWS names and ARNs never hold a quote), then the boot script. */
export function trainerUserData(settings: TrainerBootSettings): ec2.UserData {
  const exports = Object.entries(bootEnvironment(settings)).map(([name, value]) => {
    if (!Token.isUnresolved(value) && value.includes("'")) throw new Error(`boot setting ${name} must not contain a single quote: ${value}`);
    return `export ${name}='${value}'`;
  });
  const script = readFileSync(BOOT_SCRIPT_PATH, 'utf8').replace(/^#!.*\n/, '');
  const userData = ec2.UserData.forLinux();
  userData.addCommands(...exports, script);
  return userData;
}
