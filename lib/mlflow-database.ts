import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** The database MLflow's tracking store lives in; the entrypoint creates `<name>_auth` beside it for basic-auth. */
export const MLFLOW_DATABASE_NAME = 'mlflow';

export interface MlflowDatabaseProps {
  readonly vpc: ec2.IVpc;
  /**
   * Keep a final snapshot on `cdk destroy` instead of deleting the data with the instance.
   * @default false
   */
  readonly retainData?: boolean;
}

/**
 * PostgreSQL (current major, 18) on RDS for MLflow: encrypted, a week of automated backups,
 * credentials generated into Secrets Manager, in the isolated subnets and not publicly accessible.
 * Its security group admits nobody until a client is allowed through `connections`.
 */
export class MlflowDatabase extends Construct {
  public readonly instance: rds.DatabaseInstance;
  /** JSON with host, port, dbname, username and password. */
  public readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: MlflowDatabaseProps) {
    super(scope, id);
    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_18 }),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      publiclyAccessible: false,
      credentials: rds.Credentials.fromGeneratedSecret('mlflow'),
      databaseName: MLFLOW_DATABASE_NAME,
      storageEncrypted: true,
      storageType: rds.StorageType.GP3,
      allocatedStorage: 20,
      maxAllocatedStorage: 100,
      backupRetention: Duration.days(7),
      multiAz: false,
      autoMinorVersionUpgrade: true,
      // Deletion protection would make `cdk destroy` fail; retainData keeps a final snapshot instead.
      deletionProtection: false,
      deleteAutomatedBackups: !props.retainData,
      removalPolicy: props.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    });
    this.secret = this.instance.secret!;

    const acknowledge = (ruleId: string, reason: string) => Validations.of(this.instance).acknowledge({ id: ruleId, reason });
    acknowledge('AwsSolutions-RDS3', 'Single-AZ: a team tracking server tolerates minutes of downtime, and Multi-AZ doubles the cost; backups cover data loss.');
    acknowledge('AwsSolutions-RDS10', 'cdk destroy must remove the database; with retainData a final snapshot keeps the data instead.');
    acknowledge('AwsSolutions-RDS11', 'The database is unreachable from outside the VPC (isolated subnets, security group per client); a non-default port adds nothing.');
    acknowledge('AwsSolutions-SMG4', 'Rotation needs a Lambda with a route to Secrets Manager from the isolated subnets (an interface endpoint, ~$15/month) and a restart of MLflow to pick up the new password.');
  }
}
