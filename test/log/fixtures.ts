/** Test helper: a realistic blocked-request event with planted secrets. */
import type { WafEvent } from '../../src/types.ts';
import { buildEvent } from '../../src/log/event.ts';

export const SECRET = 'Zq8sekrit-PLANTED-7731';
export const CARD = '4111 1111 1111 1111';

export function plantedEvent(over: Partial<WafEvent> = {}, i = 0): WafEvent {
  const e = buildEvent(
    {
      site: 'shop', route: '/api/', clientIp: `203.0.113.${(i % 200) + 1}`, peer: '127.0.0.1', method: 'POST',
      url: `/api/login?next=/x&token=${SECRET}&q=1%27%20OR%201=1--`,
      headers: [['Host', 'shop.test'], ['User-Agent', 'curl/8'], ['Authorization', `Bearer ${SECRET}`], ['Cookie', `sessionid=${SECRET}; theme=dark`], ['X-Api-Key', SECRET]],
    },
    {
      action: 'block', mode: 'block',
      verdict: {
        action: 'block', mode: 'block', score: 10, threshold: 5, paranoia: 1, rulesetVersion: 3, findings: [],
        matches: [
          { id: 942100, name: 'SQL injection (libinjection)', family: 'sqli', severity: 'critical', paranoia: 1, score: 5, target: 'args:q', value: `1' OR 1=1-- card ${CARD}`, matched: "' OR 1=1" },
          { id: 942200, name: 'SQLi in password', family: 'sqli', severity: 'critical', paranoia: 1, score: 5, target: 'args:password', value: `${SECRET}' OR '1'='1`, matched: `${SECRET}'` },
          { id: 941100, name: 'XSS in body', family: 'xss', severity: 'critical', paranoia: 1, score: 5, target: 'body_raw', value: `password=${SECRET}&c=<script>`, matched: '<script>' },
        ],
      },
    },
  );
  return { ...e, ...over };
}
