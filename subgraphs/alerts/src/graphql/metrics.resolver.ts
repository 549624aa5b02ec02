import { Arg, Ctx, Directive, Int, Mutation, Resolver } from 'type-graphql';
import { MAX_SAMPLES_PER_BATCH } from '../store/samples';
import type { AlertsContext } from './context';
import { MetricSampleInput } from './inputs';
import { METRIC_PRODUCERS } from './access';

/** The write path for metric producers (serving sidecars, business-metric jobs). */
@Resolver()
export class MetricsResolver {
  @Directive(METRIC_PRODUCERS)
  @Mutation(() => Int, {
    description: `Stores the latest sample per deployment and metric (all or nothing) and, unless ALERTS_EVALUATE_ON_RECORD=false, evaluates the rules watching them before answering. At most ${MAX_SAMPLES_PER_BATCH} samples (LIMIT_EXCEEDED); answers how many were recorded.`,
  })
  async recordMetrics(
    @Arg('samples', () => [MetricSampleInput]) samples: MetricSampleInput[],
    @Ctx() { operations }: AlertsContext,
  ): Promise<number> {
    return operations.recordMetrics(
      samples.map((s) => ({
        deployment: s.deployment,
        metric: s.metric,
        value: s.value,
        at: s.at ? s.at.getTime() : null,
      })),
    );
  }
}
