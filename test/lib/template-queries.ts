import type { Template } from 'aws-cdk-lib/assertions';

/** Small readers over synthesized templates, shared by the stack tests. */

export type Resource = { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

export function resourcesOfType(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type) as Record<string, Resource>);
}

/** Every ingress rule, inline in a security group or on its own, as [logical id, rule]. */
export function ingressRules(template: Template): Array<[string, Record<string, any>]> {
  const inline = resourcesOfType(template, 'AWS::EC2::SecurityGroup')
    .flatMap(([id, group]) => (group.Properties?.SecurityGroupIngress ?? []).map((rule: Record<string, any>) => [id, rule] as [string, Record<string, any>]));
  const separate = resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress').map(([id, rule]) => [id, rule.Properties ?? {}] as [string, Record<string, any>]);
  return [...inline, ...separate];
}

/** Every Allow statement of every IAM policy (inline, default and managed) in the template. */
export function allowStatements(template: Template): Array<Record<string, any>> {
  const documents = [
    ...resourcesOfType(template, 'AWS::IAM::Policy').map(([, r]) => r.Properties?.PolicyDocument),
    ...resourcesOfType(template, 'AWS::IAM::ManagedPolicy').map(([, r]) => r.Properties?.PolicyDocument),
  ];
  return documents.flatMap((doc) => doc?.Statement ?? []).filter((s: Record<string, any>) => s.Effect === 'Allow');
}

export const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** A CloudFormation value as text, references shown as {Ref}/{GetAtt} JSON, for pattern checks. */
export const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value) ?? '');

/** An Fn::Join as the text it will become, each reference in it shown as {its JSON}. */
export function joined(value: unknown): string {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return text(value);
  return join[1].map((part) => (typeof part === 'string' ? part : `{${text(part)}}`)).join(join[0]);
}
