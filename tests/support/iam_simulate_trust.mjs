// Judges role assumptions against a trust policy (the role's resource policy) with an
// independent IAM evaluator, @cloud-copilot/iam-simulate (installed by .ci/run under
// $IAMTRIM_NODE_MODULES).
//
//   node tests/support/iam_simulate_trust.mjs < {"role": ARN, "trust": POLICY,
//       "requests": [{"principal": P, "action": A, "context": {KEY: VALUE}}]}
//
// Prints one line per request: `<overallResult> <action> <context as JSON>`.
//
// IRSA: the evaluator's catalog has no EKS OIDC condition keys (`<issuer>:sub`, `<issuer>:aud`)
// for sts:AssumeRoleWithWebIdentity and drops them from the request (0.1.173 lists Google's,
// Cognito's, GitHub's ... only). They are renamed to the keys it knows for the same claims,
// `accounts.google.com:sub` and `:aud`, in the trust policy's conditions and in the request alike:
// a rename of key names only (the principal stays the EKS provider, the values are compared as
// given), so a policy naming more than one EKS issuer is refused rather than merged.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import path from 'node:path'

const modules = process.env.IAMTRIM_NODE_MODULES
const require = createRequire(path.join(modules, 'package.json'))
const { runSimulation } = await import(require.resolve('@cloud-copilot/iam-simulate'))

const issuers = new Set()
const oidcKey = (key) => {
  const match = /^(oidc\.eks\.[^:]+):(sub|aud)$/.exec(key)
  if (!match) return key
  issuers.add(match[1])
  if (issuers.size > 1) throw new Error(`more than one EKS issuer: ${[...issuers].join(', ')}`)
  return `accounts.google.com:${match[2]}`
}
const renameKeys = (object) =>
  Object.fromEntries(Object.entries(object ?? {}).map(([k, v]) => [oidcKey(k), v]))
const input = JSON.parse(readFileSync(0, 'utf8'))
const statements = Array.isArray(input.trust.Statement) ? input.trust.Statement : [input.trust.Statement]
input.trust.Statement = statements.map((statement) =>
  statement.Condition
    ? {
        ...statement,
        Condition: Object.fromEntries(
          Object.entries(statement.Condition).map(([operator, keys]) => [operator, renameKeys(keys)])
        )
      }
    : statement
)
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
        contextVariables: renameKeys(request.context)
      }
    },
    {}
  )
  const result = response.resultType === 'error' ? `error:${JSON.stringify(response.errors)}` : response.overallResult
  console.log(`${result} ${request.action} ${JSON.stringify(request.context)}`)
}
