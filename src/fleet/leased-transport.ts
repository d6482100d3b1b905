/**
 * A transport whose every request to a host with a budget first takes one of that host's
 * fleet-wide slots (RedisHostBudget), and gives it back when the answer is read: however many
 * workers run, no host sees more than its budget of requests at once.
 */
import type { HttpResponse, RequestOptions, Transport } from '../http/types.js';
import { budgetFor, type HostBudgets, type RedisHostBudget } from './host-budget.js';

export function leasedTransport(inner: Transport, budget: RedisHostBudget, budgets: HostBudgets): Transport {
  const leased: Transport = {
    get stats() {
      return inner.stats;
    },
    close: () => inner.close(),
    async request<T = unknown>(url: string, options?: RequestOptions): Promise<HttpResponse<T>> {
      const limit = budgetFor(budgets, url);
      if (limit === undefined) return inner.request<T>(url, options);
      const release = await budget.acquire(url, limit, options?.signal);
      try {
        return await inner.request<T>(url, options);
      } finally {
        await release();
      }
    },
  };
  if (inner.concurrency) Object.defineProperty(leased, 'concurrency', { value: inner.concurrency });
  return leased;
}
