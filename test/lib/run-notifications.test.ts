import { buildApp, type BuiltApp } from './build-app';
import { allowStatements, asArray, joined, resourcesOfType, text } from './template-queries';

const userData = (built: BuiltApp) => joined(resourcesOfType(built.training, 'AWS::EC2::LaunchTemplate')[0][1].Properties?.LaunchTemplateData.UserData['Fn::Base64']);

describe('-c notifyEmail=…', () => {
  let built: BuiltApp;
  beforeAll(() => {
    built = buildApp({ notifyEmail: 'team@example.com' });
  });

  test('an encrypted topic that takes TLS only, with the address subscribed', () => {
    const [topicId, topic] = resourcesOfType(built.training, 'AWS::SNS::Topic')[0];
    expect(text(topic.Properties?.KmsMasterKeyId)).toContain('alias/aws/sns');
    built.training.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'team@example.com', TopicArn: { Ref: topicId } });
    const [, policy] = resourcesOfType(built.training, 'AWS::SNS::TopicPolicy')[0];
    expect(policy.Properties?.PolicyDocument.Statement).toEqual(expect.arrayContaining([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]));
  });

  test('the boot script gets the topic and may publish to it, and nothing else new', () => {
    const [topicId] = resourcesOfType(built.training, 'AWS::SNS::Topic')[0];
    expect(userData(built)).toContain(`export NOTIFY_TOPIC_ARN='{{"Ref":"${topicId}"}}'`);
    const publish = allowStatements(built.training).filter((s) => asArray(s.Action).includes('sns:Publish'));
    expect(publish.map((s) => s.Resource)).toEqual([{ Ref: topicId }]);
  });

  test('without it there is no topic, and the boot script publishes nothing', () => {
    const plain = buildApp();
    expect(resourcesOfType(plain.training, 'AWS::SNS::Topic')).toEqual([]);
    expect(userData(plain)).toContain("export NOTIFY_TOPIC_ARN=''");
  });

  test('the run link points where people open MLflow', () => {
    expect(userData(built)).toContain("export MLFLOW_UI_URL='http://localhost:5000'");
    expect(userData(buildApp({ allowedCidrs: '203.0.113.7/32' }))).toMatch(/export MLFLOW_UI_URL='http:\/\/\{.*MlflowPublicLoadBalancer/);
  });
});
