import { Router } from 'express';
import type { ShadowRecorder } from '../record/shadow-record.js';
import type { ReportOptions } from './build-report.js';
import { buildShadowReport } from './build-report.js';

/**
 * Admin routes: `GET /shadow/report[?route=NAME]` (JSON) and
 * `GET /shadow/samples?route=NAME&endpoint=GET%20/api/users/:id[&limit=N]` (stored, redacted
 * mismatch samples). Mount at the admin app's root: `app.use(shadowReportRouter({ recorder }))`.
 */
export function shadowReportRouter(deps: { recorder: ShadowRecorder; report?: Omit<ReportOptions, 'route'> }): Router {
  const router = Router();
  router.get('/shadow/report', async (req, res, next) => {
    try {
      const route = typeof req.query.route === 'string' && req.query.route !== '' ? req.query.route : undefined;
      res.json(await buildShadowReport(deps.recorder, { ...deps.report, ...(route === undefined ? {} : { route }) }));
    } catch (err) {
      next(err);
    }
  });
  router.get('/shadow/samples', async (req, res, next) => {
    try {
      const { route, endpoint } = req.query;
      if (typeof route !== 'string' || typeof endpoint !== 'string') {
        res.status(400).json({ error: { message: 'query parameters "route" and "endpoint" are required' } });
        return;
      }
      const limit = Math.min(100, Math.max(1, Number(req.query.limit ?? 20) || 20));
      res.json({ samples: await deps.recorder.samples(route, endpoint, limit) });
    } catch (err) {
      next(err);
    }
  });
  return router;
}
