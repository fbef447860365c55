import { type DeploymentConfig, WHOLE_INTERNET } from './config';
import { MODEL_BASE_PATH } from './model-server-command';

type ExposureConfig = Pick<DeploymentConfig, 'allowedCidrs' | 'openToInternet' | 'certificateArn' | 'serve'>;

/**
 * What `-c openToInternet=true` opens, in words for the person deploying (cdk synth and deploy
 * print it as a warning; `npm run cloud:check` shows it), or undefined when it is not set.
 */
export function internetExposureNotice(config: ExposureConfig): string | undefined {
  if (!config.openToInternet) return undefined;
  if (!config.allowedCidrs.includes(WHOLE_INTERNET)) {
    const who = config.allowedCidrs.length
      ? `MLflow stays open to ${config.allowedCidrs.join(', ')} only`
      : 'there is no public load balancer at all (no allowedCidrs)';
    return `openToInternet=true opens nothing: allowedCidrs does not contain ${WHOLE_INTERNET}, so ${who}.`;
  }
  const ports = config.certificateArn ? 'ports 443 (HTTPS) and 80 (redirected to HTTPS)' : 'port 80 (plain HTTP: passwords cross the internet unencrypted; add certificateArn)';
  const opened = [
    "MLflow's login page and API (basic-auth: the admin user and anyone you add)",
    ...(config.serve ? [`the model server under ${MODEL_BASE_PATH} (its token required)`] : []),
  ];
  return `openToInternet=true: the public load balancer admits every IPv4 address on ${ports}, in front of ${opened.join(', and ')}. `
    + 'The database, the internal load balancer, the trainer and the sweep instances stay closed to the internet.';
}
