import { formatMetricPair } from '../../evaluate/html';
import { higherIsBetter } from '../../evaluate/metric-directions';

export interface ChampionDecision {
  readonly promote: boolean;
  readonly reason: string;
}

/**
 * Whether a new model version takes the champion alias: only when its metric strictly beats the
 * champion's. A candidate without the metric never wins; a champion without it always loses.
 */
export function decideChampion(
  metric: string,
  candidate: number | undefined,
  champion: number | undefined,
  greaterIsBetter = higherIsBetter(metric),
): ChampionDecision {
  if (candidate === undefined || Number.isNaN(candidate)) {
    return { promote: false, reason: `the new version has no ${metric}` };
  }
  if (champion === undefined || Number.isNaN(champion)) {
    return { promote: true, reason: `no current champion with ${metric}` };
  }
  const better = greaterIsBetter ? candidate > champion : candidate < champion;
  const relation = better ? 'beats' : 'does not beat';
  const [shown, championShown] = formatMetricPair(candidate, champion);
  return { promote: better, reason: `${metric} ${shown} ${relation} the champion's ${championShown}` };
}
