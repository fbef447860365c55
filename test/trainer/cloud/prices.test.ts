import { GPU_INSTANCE_SPECS } from '../../../trainer/src/cloud/gpu-instances';
import { hourlyPrice, pricedRegions, PRICES_AS_OF } from '../../../trainer/src/cloud/prices';
import { SWEEP_INSTANCE_SIZES } from '../../../lib/gpu-instance-sizes';

describe('the price table', () => {
  test('is dated', () => {
    expect(PRICES_AS_OF).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test.each(['us-east-1', 'eu-west-1'])('%s: g4dn, g5 and p3 on demand and on spot, spot the cheaper', (region) => {
    for (const type of ['g4dn.xlarge', 'g4dn.12xlarge', 'g5.xlarge', 'g5.48xlarge', 'p3.2xlarge', 'p3.16xlarge']) {
      const onDemand = hourlyPrice(type, region, 'on-demand');
      const spot = hourlyPrice(type, region, 'spot');
      expect([type, onDemand?.usdPerHour]).toEqual([type, expect.any(Number)]);
      expect(spot!.usdPerHour).toBeLessThan(onDemand!.usdPerHour);
      expect(spot!.usdPerHour).toBeGreaterThan(0);
    }
  });

  test('every type a sweep can run on has a price in us-east-1, so sweeps there always show their cost', () => {
    for (const type of Object.keys(SWEEP_INSTANCE_SIZES)) expect([type, hourlyPrice(type, 'us-east-1', 'spot')]).toEqual([type, expect.anything()]);
  });

  test('every priced type has its size, so a shared instance is split by its GPUs', () => {
    for (const types of Object.values(pricedRegions())) {
      for (const type of types) expect([type, GPU_INSTANCE_SPECS[type]?.gpus]).toEqual([type, expect.any(Number)]);
    }
  });

  test('larger sizes of a family cost more per hour', () => {
    const sizes = ['xlarge', '2xlarge', '4xlarge', '8xlarge'];
    for (const family of ['g4dn', 'g5', 'g6']) {
      const prices = sizes.map((size) => hourlyPrice(`${family}.${size}`, 'us-east-1', 'on-demand')!.usdPerHour);
      expect(prices).toEqual([...prices].sort((a, b) => a - b));
    }
  });

  test('a type or region the table lacks has no price, rather than a guess', () => {
    expect(hourlyPrice('g6e.xlarge', 'us-east-1', 'on-demand')).toBeUndefined();
    expect(hourlyPrice('g4dn.xlarge', 'ap-south-1', 'spot')).toBeUndefined();
  });
});
