// Evaluates IAM requests with @cloud-copilot/iam-simulate (pinned in package.json).
// stdin: JSON [{ "id": "...", "simulation": <Simulation> }, ...]
// stdout: JSON [{ "id": "...", "result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" } | { "id", "error" }]
// With --lines: one simulation (JSON) per input line, one answer per output line, as each arrives (a long-lived
// process, as the rehearsal's emulator keeps one).
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

async function answer (id, simulation) {
  try {
    const outcome = await runSimulation(simulation, {})
    if (outcome.resultType === 'error') return { id, error: JSON.stringify(outcome.errors) }
    // The context keys the engine left out: not condition keys of the action and resource type in its IAM data.
    return { id, result: outcome.overallResult, ignored: outcome.result?.ignoredContextKeys ?? [] }
  } catch (error) {
    return { id, error: String(error && error.message ? error.message : error) }
  }
}

if (process.argv.includes('--lines')) {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line.trim()) continue
    process.stdout.write(JSON.stringify(await answer('0', JSON.parse(line))) + '\n')
  }
} else {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const results = []
  for (const { id, simulation } of cases) results.push(await answer(id, simulation))
  process.stdout.write(JSON.stringify(results))
}
