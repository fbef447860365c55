import { CfnResource, Fn, Names, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * Lambda creates `/aws/lambda/<function>` on first use, outside CloudFormation, and `cdk destroy`
 * would leave it behind; AwsCustomResource declares that group itself but retains it. The
 * functions here all come from CDK (bucket emptying, the deploy-time run starter), so rather than
 * configure each, this makes sure every function in the stack that logs to its default group has
 * that group declared in the stack and deleted with it. Custom resources depend on these groups,
 * so on delete the functions still log into them before they go.
 * Call it last in a stack's constructor.
 */
export function ownLambdaLogGroups(stack: Stack): void {
  const resources = stack.node.findAll().filter(CfnResource.isCfnResource);
  const functions = resources.filter((r) => r.cfnResourceType === 'AWS::Lambda::Function'
    && !(r instanceof lambda.CfnFunction && r.loggingConfig));
  const customResources = resources.filter((r) => r.cfnResourceType.startsWith('Custom::')
    || r.cfnResourceType === 'AWS::CloudFormation::CustomResource');
  const nameOf = (value: unknown) => JSON.stringify(stack.resolve(value));
  const declared = new Map(resources.filter((r): r is logs.CfnLogGroup => r instanceof logs.CfnLogGroup)
    .map((group) => [nameOf(group.logGroupName), group]));

  for (const fn of functions) {
    const logGroupName = Fn.join('', ['/aws/lambda/', fn.ref]);
    const logGroup = declared.get(nameOf(logGroupName)) ?? new logs.CfnLogGroup(stack, `LogGroupOf${Names.uniqueId(fn)}`, {
      logGroupName,
      retentionInDays: logs.RetentionDays.ONE_WEEK,
    });
    logGroup.applyRemovalPolicy(RemovalPolicy.DESTROY);
    for (const customResource of customResources) customResource.addResourceDependency(logGroup);
  }
}
