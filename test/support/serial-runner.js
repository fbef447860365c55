// The end-to-end suites (*.e2e.test.ts) train real models and start servers, each using both cores:
// run side by side they starve each other and time out on a busy machine, so they run one at a time.
const TestRunner = require('jest-runner').default;

class SerialRunner extends TestRunner {
  constructor(...args) {
    super(...args);
    this.isSerial = true;
  }
}

module.exports = SerialRunner;
