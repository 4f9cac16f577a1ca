print("dagbridge")
