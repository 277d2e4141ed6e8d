"""The test suite (a package, so its folders never shadow localhub.sync or localhub.cli)."""
