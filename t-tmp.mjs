import { createServer } from 'node:http';
import { Agent } from 'undici';
const s = createServer(() => {}); await new Promise(r => s.listen(0, '127.0.0.1', r));
const agent = new Agent({ headersTimeout: 50, connect: { timeout: 1000 } });
for (let i = 0; i < 3; i++) {
const t = Date.now();
try { await agent.request({ origin: `http://127.0.0.1:${s.address().port}`, path: '/', method: 'GET' }); } catch (e) { console.log(e.code, Date.now() - t); }
}
s.closeAllConnections(); s.close(); await agent.close();
