import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BOOT_SCRIPT_PATH } from '../../lib/trainer-user-data';

/**
 * The boot script runs under bash with stand-ins for everything it calls on an instance. Each
 * stand-in appends its command line to calls.log; what it answers is steered by environment
 * variables, so one test can fail the pull and another the training.
 */
const STAND_INS: Record<string, string> = {
  shutdown: 'record shutdown "$@"',
  sleep: 'record sleep "$@"',
  'nvidia-smi': 'record nvidia-smi "$@"; [ -n "${FAIL_NVIDIA_SMI:-}" ] && { echo "NVIDIA-SMI has failed"; exit 9; }; echo "Tesla T4, driver 595.91"',
  curl: `record curl "$@"
[ "$1" = -fsS ] && case "$*" in *" -K - "*) cat >> "$WORK/curl-stdin" ;; esac
case "$*" in
  *experiments/get-by-name*) [ -n "\${MLFLOW_DOWN:-}" ] && exit 7; echo '{"experiment": {"experiment_id": "4", "name": "malaria-classifier"}}' ;;
  *runs/search*) echo '{"runs": [{"info": {"run_uuid": "12e2c454f6624b44875a1856130ba041", "experiment_id": "4", "run_id": "12e2c454f6624b44875a1856130ba041"}}]}' ;;
  *api/token*) echo token-123 ;;
  *meta-data/instance-id*) echo i-0abc ;;
  *meta-data/instance-type*) echo g4dn.xlarge ;;
  *spot/instance-action*) [ -n "\${SPOT_ACTION:-}" ] && echo "$SPOT_ACTION" || exit 22 ;;
  *) exit 22 ;;
esac`,
  aws: `record aws "$@"
case "$1 $2" in
  "ssm get-parameter") [ -n "\${FAIL_SSM:-}" ] && exit 255; printf '%s\\n' "$RUN_REQUEST" ;;
  "ssm put-parameter") while [ $# -gt 0 ]; do [ "$1" = --value ] && printf '%s' "$2" > "$WORK/outcome.json"; shift; done ;;
  "logs put-log-events") while [ $# -gt 0 ]; do [ "$1" = --log-events ] && printf '%s\\n' "$2" >> "$WORK/cloudwatch.log"; shift; done ;;
  "secretsmanager get-secret-value") echo '{"username":"admin","password":"Secret123abc"}' ;;
  "ecr get-login-password") echo ecr-token ;;
  "sns publish") printf '%s\\n' "$*" >> "$WORK/sns.log" ;;
esac
exit 0`,
  docker: `record docker "$@"
case "$1" in
  login) cat > /dev/null; exit "\${DOCKER_LOGIN_EXIT:-0}" ;;
  pull) exit "\${DOCKER_PULL_EXIT:-0}" ;;
  image) echo 123.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:feed ;;
  run)
    # The trap comes before container.env, which tells the signal test that the container is up.
    [ -n "\${DOCKER_RUN_BLOCK:-}" ] && trap 'echo TERM >> "$WORK/container-signals"; exit 143' TERM
    env | grep -E '^(MLFLOW|TRAINER|AWS)_' | sort > "$WORK/container.env"
    if [ -n "\${DOCKER_RUN_BLOCK:-}" ]; then while :; do /bin/sleep 0.05; done; fi
    exit "\${DOCKER_RUN_EXIT:-0}" ;;
esac`,
};

const BASE_ENV = {
  MAX_RUNTIME_MINUTES: '240',
  TRAINER_IMAGE: '123.dkr.ecr.eu-west-1.amazonaws.com/cdk-assets:abc',
  AWS_REGION: 'eu-west-1',
  BUCKET: 'artifacts-bucket',
  LOG_GROUP: '/malaria-mlops/dev/trainer',
  RUN_PARAMETER: '/malaria-mlops/dev/trainer/run-request',
  OUTCOME_PARAMETER: '/malaria-mlops/dev/trainer/last-outcome',
  MLFLOW_TRACKING_URI: 'http://internal-mlflow.eu-west-1.elb.amazonaws.com',
  MLFLOW_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlflow-admin',
  MLFLOW_EXPERIMENT_NAME: 'malaria-classifier',
  MLFLOW_UI_URL: 'https://mlflow.example.com',
  NOTIFY_TOPIC_ARN: '',
  RUN_REQUEST: 'run-7\n--model\ncnn-2\n--epochs\n3',
};

interface BootResult {
  readonly status: number | null;
  readonly calls: string[];
  readonly outcome: { outcome: string; exitCode: number; runId: string; instanceId: string };
  readonly cloudwatch: string;
  readonly containerEnv: string;
  readonly sns: string;
  readonly curlStdin: string;
  readonly work: string;
}

let bin: string;
const works: string[] = [];

function workspace(): { work: string; env: NodeJS.ProcessEnv } {
  const work = mkdtempSync(path.join(tmpdir(), 'boot-run-'));
  works.push(work);
  return { work, env: { PATH: `${bin}:${process.env.PATH}`, HOME: work, WORK: work, CALLS: path.join(work, 'calls.log') } };
}

function results(work: string, status: number | null): BootResult {
  const read = (name: string) => (existsSync(path.join(work, name)) ? readFileSync(path.join(work, name), 'utf8') : '');
  const outcome = read('outcome.json');
  return {
    status,
    calls: read('calls.log').split('\n').filter(Boolean),
    outcome: outcome ? JSON.parse(outcome) : undefined,
    cloudwatch: read('cloudwatch.log'),
    containerEnv: read('container.env'),
    sns: read('sns.log'),
    curlStdin: read('curl-stdin'),
    work,
  };
}

function boot(overrides: Record<string, string | undefined> = {}): BootResult {
  const { work, env } = workspace();
  const run = spawnSync('bash', [BOOT_SCRIPT_PATH], { env: { ...env, ...BASE_ENV, ...overrides }, encoding: 'utf8', timeout: 30_000 });
  return results(work, run.status);
}

const index = (calls: string[], pattern: RegExp) => calls.findIndex((call) => pattern.test(call));
const LEAVE_GROUP = /^aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-0abc --should-decrement-desired-capacity$/;
const POWER_OFF = /^shutdown -P now /;

function expectLeftGroupAndPoweredOff(result: BootResult): void {
  const leave = index(result.calls, LEAVE_GROUP);
  expect(leave).toBeGreaterThan(0);
  expect(result.calls[result.calls.length - 1]).toMatch(POWER_OFF);
  expect(leave).toBeLessThan(result.calls.length - 1);
}

beforeAll(() => {
  bin = mkdtempSync(path.join(tmpdir(), 'boot-bin-'));
  for (const [name, body] of Object.entries(STAND_INS)) {
    const file = path.join(bin, name);
    writeFileSync(file, `#!/usr/bin/env bash\nrecord() { printf '%s\\n' "$*" >> "$CALLS"; }\n${body}\n`);
    chmodSync(file, 0o755);
  }
});

afterAll(() => {
  for (const dir of [bin, ...works]) rmSync(dir, { recursive: true, force: true });
});

describe('trainer boot script', () => {
  test('arms the watchdog before anything else, with the configured limit', () => {
    const result = boot();
    expect(result.calls[0]).toBe('shutdown -P +240 trainer watchdog: 240 minutes are up');
  });

  test('a successful run: GPU logged, ECR login, pull, the container with the run configuration, then it leaves the group and powers off', () => {
    const result = boot();
    expect(result.status).toBe(0);
    const order = [/^nvidia-smi/, /^docker pull --quiet 123.dkr.ecr/, /^docker run /, LEAVE_GROUP, POWER_OFF].map((pattern) => index(result.calls, pattern));
    expect(order.every((position) => position > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The login is a pipe (aws ecr get-login-password | docker login): both ends run at once, before the pull.
    for (const login of [/^aws ecr get-login-password --region eu-west-1$/, /^docker login --username AWS --password-stdin 123.dkr.ecr.eu-west-1.amazonaws.com$/]) {
      expect(index(result.calls, login)).toBeGreaterThan(order[0]);
      expect(index(result.calls, login)).toBeLessThan(order[1]);
    }

    const run = result.calls.find((call) => call.startsWith('docker run '))!;
    expect(run).toContain('--gpus all');
    expect(run).toContain('--log-driver awslogs');
    expect(run).toContain('--log-opt awslogs-group=/malaria-mlops/dev/trainer --log-opt awslogs-stream=run-7/i-0abc/trainer');
    expect(run).toContain('-e MLFLOW_TRACKING_URI -e MLFLOW_TRACKING_USERNAME -e MLFLOW_TRACKING_PASSWORD');
    expect(run).toMatch(/123.dkr.ecr.eu-west-1.amazonaws.com\/cdk-assets:abc train --require-gpu --checkpoint-uri s3:\/\/artifacts-bucket\/checkpoints\/run-7 --dataset-cache s3:\/\/artifacts-bucket\/datasets\/malaria\/ --model cnn-2 --epochs 3$/);
    // The password reaches the container through its environment, never on a command line.
    expect(result.calls.join('\n')).not.toContain('Secret123abc');
    expect(result.containerEnv).toContain('MLFLOW_TRACKING_PASSWORD=Secret123abc');
    expect(result.containerEnv).toContain('MLFLOW_TRACKING_USERNAME=admin');
    expect(result.containerEnv).toContain('MLFLOW_TRACKING_URI=http://internal-mlflow.eu-west-1.elb.amazonaws.com');
    expect(result.containerEnv).toContain('TRAINER_IMAGE_DIGEST=123.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:feed');
    expect(result.containerEnv).toContain('TRAINER_RUN_ID=run-7');
    expect(result.containerEnv).toContain('MLFLOW_EXPERIMENT_NAME=malaria-classifier');

    expect(result.outcome).toMatchObject({ runId: 'run-7', instanceId: 'i-0abc', outcome: 'success', exitCode: 0 });
    expect(index(result.calls, /^aws logs create-log-stream --log-group-name \/malaria-mlops\/dev\/trainer --log-stream-name run-7\/i-0abc\/boot$/)).toBeGreaterThan(0);
    expect(result.cloudwatch).toContain('nvidia-smi: Tesla T4, driver 595.91');
    expect(result.cloudwatch).toContain('outcome: success (exit code 0)');
  });

  test('a prebuilt image from a public registry is pulled without an ECR login', () => {
    const result = boot({ TRAINER_IMAGE: `ghcr.io/acme/trainer@sha256:${'a'.repeat(64)}` });
    expect(index(result.calls, /^docker login|^aws ecr/)).toBe(-1);
    expect(index(result.calls, /^docker pull --quiet ghcr.io\/acme\/trainer@sha256:a+$/)).toBeGreaterThan(0);
    expect(result.outcome).toMatchObject({ outcome: 'success' });
  });

  test('with NOTIFY_TOPIC_ARN, the outcome is published with the MLflow run\'s link, before the instance leaves its group', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:runs';
    const result = boot({ NOTIFY_TOPIC_ARN: topic, DOCKER_RUN_EXIT: '3' });
    expect(result.sns).toContain(`sns publish --topic-arn ${topic} --subject malaria-mlops: run run-7 training-failed --message Run run-7 on g4dn.xlarge i-0abc ended: training-failed (exit code 3).`);
    expect(result.sns).toContain('MLflow run: https://mlflow.example.com/#/experiments/4/runs/12e2c454f6624b44875a1856130ba041');
    expect(result.sns).toContain('Logs: aws logs tail /malaria-mlops/dev/trainer --log-stream-name-prefix run-7/');
    // MLflow is asked for the run this instance tagged, with the credentials on curl's stdin only.
    const search = result.calls.find((call) => call.includes('runs/search'))!;
    expect(search).toContain("tags.instance_id = 'i-0abc'");
    expect(result.curlStdin).toContain('user = "admin:Secret123abc"');
    expect(result.calls.join('\n')).not.toContain('Secret123abc');
    expect(index(result.calls, /^aws sns publish/)).toBeLessThan(index(result.calls, LEAVE_GROUP));
    expectLeftGroupAndPoweredOff(result);
  });

  test('when MLflow cannot be asked, the notice still goes out and says how to find the run', () => {
    const result = boot({ NOTIFY_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:runs', MLFLOW_DOWN: '1' });
    expect(result.sns).toContain('ended: success (exit code 0)');
    expect(result.sns).toContain('MLflow run: not found; in MLflow, search for the tag instance_id i-0abc');
    expectLeftGroupAndPoweredOff(result);
  });

  test('without NOTIFY_TOPIC_ARN nothing is published', () => {
    const result = boot();
    expect(index(result.calls, /^aws sns/)).toBe(-1);
    expect(index(result.calls, /runs\/search/)).toBe(-1);
  });

  test('a failed training is recorded with its exit code, and the instance still shuts down', () => {
    const result = boot({ DOCKER_RUN_EXIT: '3' });
    expect(result.outcome).toMatchObject({ outcome: 'training-failed', exitCode: 3 });
    expectLeftGroupAndPoweredOff(result);
  });

  test('a failed pull is retried, then the instance shuts down without running anything', () => {
    const result = boot({ DOCKER_PULL_EXIT: '1' });
    expect(result.calls.filter((call) => call.startsWith('docker pull')).length).toBe(3);
    expect(index(result.calls, /^docker run /)).toBe(-1);
    expect(result.outcome).toMatchObject({ outcome: 'pull-failed', exitCode: 1 });
    expectLeftGroupAndPoweredOff(result);
  });

  test('a failed ECR login ends the same way', () => {
    const result = boot({ DOCKER_LOGIN_EXIT: '1' });
    expect(index(result.calls, /^docker pull/)).toBe(-1);
    expect(result.outcome).toMatchObject({ outcome: 'login-failed' });
    expectLeftGroupAndPoweredOff(result);
  });

  test('a missing GPU is logged and left to the trainer\'s --require-gpu check', () => {
    const result = boot({ FAIL_NVIDIA_SMI: '1', DOCKER_RUN_EXIT: '2' });
    expect(result.cloudwatch).toContain('nvidia-smi failed');
    expect(result.outcome).toMatchObject({ outcome: 'training-failed', exitCode: 2 });
    expectLeftGroupAndPoweredOff(result);
  });

  test.each([
    ['an unreadable run request', { FAIL_SSM: '1' }],
    ['an invalid run id', { RUN_REQUEST: '../etc\n--epochs\n3' }],
    ['a missing setting', { BUCKET: undefined }],
  ])('%s stops before docker and still shuts the instance down', (_name, overrides) => {
    const result = boot(overrides);
    expect(index(result.calls, /^docker /)).toBe(-1);
    expect(result.calls[0]).toMatch(/^shutdown -P \+240 /);
    expect(result.outcome).toMatchObject({ outcome: 'config-error', exitCode: 2 });
    expectLeftGroupAndPoweredOff(result);
  });

  test.each([['missing', undefined], ['not a number', '4h']])('with the time limit setting %s, the watchdog still arms with the default', (_name, value) => {
    const result = boot({ MAX_RUNTIME_MINUTES: value });
    expect(result.calls[0]).toMatch(/^shutdown -P \+240 /);
    expect(result.calls[result.calls.length - 1]).toMatch(POWER_OFF);
  });

  test('a run that ends on a spot interruption notice keeps the group\'s capacity, so a replacement resumes it', () => {
    const result = boot({ SPOT_ACTION: '{"action":"terminate","time":"2026-11-25T21:00:00Z"}', DOCKER_RUN_EXIT: '143' });
    expect(result.outcome).toMatchObject({ outcome: 'interrupted', exitCode: 143 });
    expect(index(result.calls, LEAVE_GROUP)).toBe(-1);
    expect(index(result.calls, POWER_OFF)).toBe(-1);
  });

  test('a shutdown from outside passes SIGTERM on to the training and records an interruption', async () => {
    const { work, env } = workspace();
    const child = spawn('bash', [BOOT_SCRIPT_PATH], { env: { ...env, ...BASE_ENV, DOCKER_RUN_BLOCK: '1' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 20_000;
    while (!existsSync(path.join(work, 'container.env')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const status = await exited;
    const result = results(work, status);
    expect(status).toBe(0);
    expect(readFileSync(path.join(work, 'container-signals'), 'utf8')).toContain('TERM');
    expect(result.outcome).toMatchObject({ outcome: 'interrupted', exitCode: 143 });
    expect(index(result.calls, LEAVE_GROUP)).toBe(-1);
    expect(index(result.calls, POWER_OFF)).toBe(-1);
  });
});

describe('shellcheck', () => {
  const available = spawnSync('shellcheck', ['--version']).status === 0;
  // Without shellcheck the test shows as skipped under a name that says why (.ci/run installs it).
  (available ? test : test.skip)(available ? 'finds nothing in the boot script' : 'SKIPPED: shellcheck is not installed (apt-get install shellcheck)', () => {
    const result = spawnSync('shellcheck', ['--shell=bash', BOOT_SCRIPT_PATH], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
