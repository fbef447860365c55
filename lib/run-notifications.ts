import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface RunNotificationsProps {
  /** Receives each run's outcome; AWS first sends it a confirmation link. */
  readonly email: string;
}

/**
 * An SNS topic the trainer's boot script publishes each run's outcome to (with the MLflow run's
 * link), and one e-mail subscription. Encrypted with the AWS managed SNS key, which every principal
 * of the account that may publish can use without a key grant; publishing only over TLS.
 */
export class RunNotifications extends Construct {
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: RunNotificationsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'malaria-mlops training runs',
      masterKey: kms.Alias.fromAliasName(this, 'ManagedKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }

  /**
   * Publishing only: the AWS managed key's own policy lets the account's principals use it through
   * SNS, so no KMS grant is added (Topic.grantPublish would add one on every key of the account).
   */
  public grantPublish(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['sns:Publish'], resourceArns: [this.topic.topicArn] });
  }
}
