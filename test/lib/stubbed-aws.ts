import { createAwsClients, type AwsClients } from '../../lib/launcher/aws-clients';

/** An SDK command as the stubs see it. */
export type SentCommand = { constructor: { name: string }; input: Record<string, unknown> };

/**
 * Real SDK clients (so commands are built and checked as in use) whose `send` answers from
 * `answer`, recording each command as "Name input" in `calls`.
 */
export function stubbedAwsClients(answer: (command: SentCommand) => unknown): { clients: AwsClients; calls: string[] } {
  const calls: string[] = [];
  const clients = createAwsClients('eu-west-1');
  const send = async (command: SentCommand) => {
    calls.push(`${command.constructor.name} ${JSON.stringify(command.input)}`);
    return answer(command);
  };
  for (const client of Object.values(clients)) jest.spyOn(client, 'send').mockImplementation(send as never);
  return { clients, calls };
}

/** A DescribeStacks answer with these outputs. */
export function stackWithOutputs(outputs: Record<string, string>): unknown {
  return { Stacks: [{ Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] };
}
