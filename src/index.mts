/**
 * The ESM entry. actions-core 3.170 cannot be imported natively from ESM (ERR_UNSUPPORTED_DIR_IMPORT), so this
 * entry loads the CommonJS build, the one module instance every host shares, and re-exports it: the definition as
 * the default export, and the named exports of the CommonJS entry (test/package.test.ts compares the two lists).
 */
import plugin from './index.js'

export type * from './index.js'

export const destination: typeof plugin.destination = plugin.destination
export const mailchimpCohorts: typeof plugin.mailchimpCohorts = plugin.mailchimpCohorts
export const planSync: typeof plugin.planSync = plugin.planSync
export const checkEmail: typeof plugin.checkEmail = plugin.checkEmail
export const foldEmail: typeof plugin.foldEmail = plugin.foldEmail
export const checkTagName: typeof plugin.checkTagName = plugin.checkTagName
export const eachBounded: typeof plugin.eachBounded = plugin.eachBounded
export const readTagMembers: typeof plugin.readTagMembers = plugin.readTagMembers
export const tagMemberPages: typeof plugin.tagMemberPages = plugin.tagMemberPages

const definition: typeof plugin.default = plugin.default
export default definition
