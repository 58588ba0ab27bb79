// Evaluates IAM requests with @cloud-copilot/iam-simulate (pinned in package.json).
// stdin: JSON [{ "id": "...", "simulation": <Simulation> }, ...]
// stdout: JSON [{ "id": "...", "result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" } | { "id", "error" }]
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const results = []
for (const { id, simulation } of cases) {
  try {
    const outcome = await runSimulation(simulation, {})
    if (outcome.resultType === 'error') {
      results.push({ id, error: JSON.stringify(outcome.errors) })
    } else {
      results.push({ id, result: outcome.overallResult })
    }
  } catch (error) {
    results.push({ id, error: String(error && error.message ? error.message : error) })
  }
}
process.stdout.write(JSON.stringify(results))
