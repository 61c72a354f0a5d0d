import type { Clock } from '../../lib/clock.js';

/** A clock that moves only when told; starts at a realistic epoch so magnitudes match Redis. */
export class FakeClock implements Clock {
  constructor(private currentUs = 1_780_000_000_000_000) {}

  nowUs(): number {
    return this.currentUs;
  }

  advanceUs(us: number): void {
    this.currentUs += us;
  }

  advanceMs(ms: number): void {
    this.currentUs += ms * 1000;
  }
}
