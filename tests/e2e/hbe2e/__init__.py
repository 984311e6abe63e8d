"""hubbridge end-to-end test harness: namespaces (netns), the sandbox a session runs in (sandbox), the Matter
controller (controller), device processes (device) and the matter.js stand-in (standin). See tests/e2e/README.md."""
