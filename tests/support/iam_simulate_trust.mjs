// Judges role assumptions against a trust policy (the role's resource policy) with an
// independent IAM evaluator, @cloud-copilot/iam-simulate (installed by .ci/run under
// $IAMTRIM_NODE_MODULES).
//
//   node tests/support/iam_simulate_trust.mjs < {"role": ARN, "trust": POLICY,
//       "requests": [{"principal": P, "action": A, "context": {KEY: VALUE}}]}
//
// Prints one line per request: `<overallResult> <action> <context as JSON>`. (It does not
// know the `<issuer>:sub` keys of OIDC providers, so IRSA statements cannot be judged here.)
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import path from 'node:path'

const modules = process.env.IAMTRIM_NODE_MODULES
const require = createRequire(path.join(modules, 'package.json'))
const { runSimulation } = await import(require.resolve('@cloud-copilot/iam-simulate'))

const input = JSON.parse(readFileSync(0, 'utf8'))
const account = input.role.split(':')[4]
for (const request of input.requests) {
  const response = await runSimulation(
    {
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: input.trust,
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: input.role, accountId: account },
        contextVariables: request.context
      }
    },
    {}
  )
  const result = response.resultType === 'error' ? `error:${JSON.stringify(response.errors)}` : response.overallResult
  console.log(`${result} ${request.action} ${JSON.stringify(request.context)}`)
}
