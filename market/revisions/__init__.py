"""Dataset revisions: versions of a dataset, what each licence covers, and who hears of a new one."""
