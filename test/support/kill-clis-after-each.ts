import { killRunningClis } from './run-cli';

// A test that fails or times out must not leave a training behind to slow the suites after it.
afterEach(() => killRunningClis());
