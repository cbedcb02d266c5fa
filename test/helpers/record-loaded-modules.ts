/**
 * A module hook for `node --import`: notes the URL of every module the process loads
 * and, when it exits, writes them one a line to the file named by
 * DDIL_LOADED_MODULES. test/cli-startup.test.ts uses it to see which packages a ddil
 * command loads, without timing anything.
 *
 * @example
 * DDIL_LOADED_MODULES=/tmp/loaded node --import ./test/helpers/record-loaded-modules.ts node/cli/bin.js --help
 */
import { registerHooks } from 'node:module'
import { writeFileSync } from 'node:fs'

const loaded = new Set<string>()

registerHooks({
  load (url, context, nextLoad) {
    loaded.add(url)
    return nextLoad(url, context)
  },
})

process.on('exit', () => {
  const file = process.env.DDIL_LOADED_MODULES
  if (file !== undefined && file !== '') writeFileSync(file, [...loaded].join('\n') + '\n')
})
