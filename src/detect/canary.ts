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
    const touched = o.event.customers.filter((c) => o.directory.customer(c)?.canary);
    if (touched.length === 0) return undefined;
    const what = o.event.action === 'search' ? 'a search that hit' : `a ${o.event.decision === 'deny' ? 'denied ' : ''}${o.event.action} of`;
    return finding('canary', o, 100, {
      summary: `${what} ${touched.length === 1 ? 'a canary customer' : `${touched.length} canary customers`}, a record no legitimate purpose links to`,
      counts: { canaries: touched.length, customers: o.event.customers.length },
      baseline: { expected: 0 },
      samples: [o.ref],
    });
  }
}
