// Judges requests against an identity policy with an independent IAM evaluator,
// @cloud-copilot/iam-simulate (installed by .ci/run under $IAMTRIM_NODE_MODULES).
//
//   node tests/support/iam_simulate.mjs < {"principal": ARN, "account": ID, "policies": [POLICY],
//                                          "requests": [{"action": A, "resource": R,
//                                                        "context": {KEY: VALUE} (optional)}]}
//
// Prints one line per request: `<overallResult> <action> <resource>`. A resource in another
// account (a KMS key of the data account) gets a resource policy that trusts the principal, as
// that account grants it: cross-account, IAM then still needs the identity policy to allow.
// A KMS key in the principal's own account gets KMS's default key policy (the account root may
// use the key), without which KMS ignores identity policies.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import path from 'node:path'

const modules = process.env.IAMTRIM_NODE_MODULES
const require = createRequire(path.join(modules, 'package.json'))
const { runSimulation } = await import(require.resolve('@cloud-copilot/iam-simulate'))

const input = JSON.parse(readFileSync(0, 'utf8'))
const identityPolicies = input.policies.map((policy, i) => ({ name: `recommended-${i}`, policy }))
for (const request of input.requests) {
  const owner = request.resource.split(':')[4]
  const foreign = owner && owner !== input.account
  const response = await runSimulation(
    {
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: !foreign && request.resource.startsWith('arn:aws:kms:')
        ? {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${input.account}:root` },
                Action: 'kms:*',
                Resource: '*'
              }
            ]
          }
        : foreign
        ? {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: input.principal },
                Action: request.action,
                Resource: request.resource
              }
            ]
          }
        : undefined,
      request: {
        action: request.action,
        principal: input.principal,
        resource: { accountId: foreign ? owner : input.account, resource: request.resource },
        contextVariables: request.context ?? {}
      }
    },
    {}
  )
  const result = response.resultType === 'error'
    ? `Error:${JSON.stringify(response.errors).replaceAll(' ', '_')}`
    : response.overallResult
  console.log(`${result} ${request.action} ${request.resource}`)
}
