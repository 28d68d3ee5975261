// snpd-bench: placeholder, filled in by the issue-5 work.
print("snpd-bench: not yet implemented")
