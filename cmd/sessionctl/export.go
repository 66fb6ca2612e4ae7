package main

func (c *cli) export(args []string) int {
	_ = args
	return c.fail("export: not implemented")
}
