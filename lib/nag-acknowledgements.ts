import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for one wildcard resource on `scope` and its
 * children. cdk-nag names such a finding by the resource ARN as it prints it (with the region and
 * logical ids filled in), so the id is computed the way cdk-nag computes it rather than written
 * out. Works for ARNs of resources in the same stack, which resolve to the same form here as when
 * cdk-nag checks the template.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const printed = flattenCfnReference(Stack.of(scope).resolve(resource));
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${printed}]`, reason });
}

/** Acknowledges `Resource::*` for actions that IAM cannot scope to a resource. */
export function acknowledgeUnscopableActions(scope: IConstruct, actions: readonly string[]): void {
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `${actions.join(', ')} support no resource-level permissions.`,
  });
}
