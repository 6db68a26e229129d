/**
 * Canary: a canary customer is an ordinary-looking record that no legitimate purpose ever links
 * to, so any access that touches one — a view, a search hit, a reveal, an export, allowed or
 * denied — is critical at once, on that very event.
 */
import type { Finding } from './alert.ts';
import { finding, type Detector, type Observation } from './detector.ts';

export class CanaryDetector implements Detector {
  readonly name = 'canary' as const;

  observe(o: Observation): Finding | undefined {
    const { customers } = o.event;
    let touched = 0;
    for (let i = 0; i < customers.length; i++) if (o.directory.isCanary(customers[i] as string)) touched++;
    if (touched === 0) return undefined;
    const what = o.event.action === 'search' ? 'a search that hit' : `a ${o.event.decision === 'deny' ? 'denied ' : ''}${o.event.action} of`;
    return finding('canary', o, 100, {
      summary: `${what} ${touched === 1 ? 'a canary customer' : `${touched} canary customers`}, a record no legitimate purpose links to`,
      counts: { canaries: touched, customers: o.event.customers.length },
      baseline: { expected: 0 },
      samples: [o.ref],
    });
  }
}
