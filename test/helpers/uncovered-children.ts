/**
 * Loaded into every test process (.taprc `node-arg`), after tap's coverage hook has started
 * this process's coverage. The processes a test starts (relays, the CLI, scenario children)
 * inherit this and run without V8's precise coverage: it made each of them about a third
 * costlier in CPU (test/bench-smoke-relays: 25.6 s of CPU with it, 17.9 s without), and
 * they are most of the suite's work. Coverage counts what test processes run themselves.
 */
process.env._TAPJS_PROCESSINFO_COVERAGE_ = '0'
