import type { Clock } from '../clock.js';

/** Settings of a circuit breaker, after validation. */
export interface CircuitBreakerSettings {
  /** Consecutive store failures (timeouts, unavailable) that open the circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit rejects at once before one probe may pass. */
  readonly cooldownMs: number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/** What the breaker says about a call about to be made. */
type CircuitAdmission = 'pass' | 'probe' | 'reject';

/**
 * The state machine of a circuit breaker, free of I/O so it can be tested with a fake clock.
 * Closed: calls pass; `failureThreshold` consecutive failures open it. Open: calls are rejected
 * until `cooldownMs` has passed; then the next call is the one probe (half-open) and the others
 * are still rejected. The probe's success closes the circuit, its failure opens it again.
 */
export class CircuitBreaker {
  private currentState: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private openedAtUs = 0;
  private probeStartedUs = 0;

  constructor(
    private readonly settings: CircuitBreakerSettings,
    private readonly clock: Clock,
    private readonly onStateChange: (from: CircuitState, to: CircuitState) => void = () => {},
  ) {}

  get state(): CircuitState {
    return this.currentState;
  }

  admit(): CircuitAdmission {
    if (this.currentState === 'closed') return 'pass';
    const nowUs = this.clock.nowUs();
    const cooldownUs = this.settings.cooldownMs * 1000;
    if (this.currentState === 'half-open') {
      // Every store call has a deadline, but a probe whose caller never reports its outcome
      // must still not hold the circuit half-open for good: after a cool-down another may go.
      if (nowUs - this.probeStartedUs < cooldownUs) return 'reject';
      this.probeStartedUs = nowUs;
      return 'probe';
    }
    if (nowUs - this.openedAtUs < cooldownUs) return 'reject';
    this.probeStartedUs = nowUs;
    this.moveTo('half-open');
    return 'probe';
  }

  /** Milliseconds until an open circuit lets its probe through (0 when not open). */
  remainingCooldownMs(): number {
    if (this.currentState !== 'open') return 0;
    const elapsedMs = (this.clock.nowUs() - this.openedAtUs) / 1000;
    return Math.max(0, Math.ceil(this.settings.cooldownMs - elapsedMs));
  }

  /** Ends an open circuit's cool-down now (the store signalled it is back): the next call probes. */
  endCooldown(): void {
    if (this.currentState === 'open') this.openedAtUs = Number.NEGATIVE_INFINITY;
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.currentState !== 'closed') this.moveTo('closed');
  }

  /**
   * An error reply that is not about availability: it neither counts nor resets the failures,
   * since a dropped connection can surface as one; but a probe that gets one shows the store
   * answers, so it closes the circuit.
   */
  recordError(): void {
    if (this.currentState === 'half-open') this.recordSuccess();
  }

  recordFailure(): void {
    if (this.currentState === 'half-open') {
      this.open();
      return;
    }
    if (this.currentState !== 'closed') return;
    this.consecutiveFailures += 1;
    if (this.consecutiveFailures >= this.settings.failureThreshold) this.open();
  }

  private open(): void {
    this.openedAtUs = this.clock.nowUs();
    this.consecutiveFailures = 0;
    this.moveTo('open');
  }

  private moveTo(next: CircuitState): void {
    const previous = this.currentState;
    this.currentState = next;
    this.onStateChange(previous, next);
  }
}
