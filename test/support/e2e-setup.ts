import { DEFAULT_CLI_TIMEOUT_MS, killRunningClis } from './run-cli';

// End-to-end tests train real models: on a machine whose cores are shared they take several times
// longer than on a quiet one. A CLI that hangs is killed before its test times out.
jest.setTimeout(DEFAULT_CLI_TIMEOUT_MS + 60_000);

// A test that fails or times out must not leave a training behind to slow the suites after it.
afterEach(() => killRunningClis());
