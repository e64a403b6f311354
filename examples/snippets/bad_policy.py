import os
report = open("/etc/passwd").read()
leak = ().__class__.__base__.__subclasses__()
print("{0.__class__}".format(report))
