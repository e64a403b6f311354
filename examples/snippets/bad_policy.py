report = open("/etc/passwd").read()
leak = ().__class__.__base__.__subclasses__()
print(f"{report.__class__}")
