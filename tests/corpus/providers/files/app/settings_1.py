TIMEOUT = 30
    main()
    "vault_root_token": "hvs.CAESIDTIclJaIklz0QF929LtxMfPqTZ4S1xYJ-OthL5sSg9OmgHgdBWQDgRKfGKLIqbakHre6RayzJh_yhgdq2089P4",
VAULT_ROOT_TOKEN = "hvs.XXXXXXXXXXXXXXXXXXXXXXXX"  # replace me
VAULT_ROOT_TOKEN = "hvs.CAESIABcDeFgHiJkLmNoPqRsTuVwXyZ"  # replace me
client = Client(api_key='sk_live_s8lLaKLrHQMq838lmoAy3rKD')
STRIPE_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"  # replace me
STRIPE_API_KEY = "pk_live_51EeWR5lcjvqDVj0GNZpUqMw2ThRHpsroDclOWpMew3gOyZZD8r8Aepz1NYRwX88ojjHsDc1gbVWt7cmJcZE9OzPKWdHGof2XRA"  # replace me
PYPI_TOKEN = os.environ.get("TWINE_PASSWORD", "pypi-AgEIcHlwaS5vcmcCJDY5N2FmOTEzLWRmNmYtNDBiMC1iNDRhLTljODk1MTkyYWJiYQACLFsxLFsiNjk3YWY5MTMtZGY2Zi00MGIwLWI0NGEtOWM4OTUxOTJhYmJhIl1dAAAGINDq2tIOPBTbDpLzWcic95NW3KIAsy2LcPU9aUOc_Ydo")
PYPI_API_TOKEN = "pypi-<your-token>"  # replace me
TWINE_PASSWORD = "pypi-AgEIcHlwaS5vcmcmWt0nrxE08SIRiIvI0DfstRPWauentv7B4GMW9ewbB4HL5VqxmnL0TWxZOv_yNwm3MQkh_oB7oq9KykGzWN-vykoFV7YP5SXdEYUjstfNb_uOm11UbwT2H1ZdueU6SbgmuqIZAfPsqngJo5WkPnu9G"  # replace me
client = Client(api_key='dt0s01.J7JYSJMEMQ4YK7PPIXN7OCY4.E3JNXPSMKXFJFJBYNO4CEIE3MLZGLAVS2FD2FXNDXLZJEWHOAFK6DXYDN5RSRGVL')
DT_API_TOKEN = "dt0c01.IUZ43D2QCMKS6BV7TZXXGDT.FSKOCCTXFEHKAXBXDAC3U5WSLRD46YSICARORKUEVK5OXDYYWX5MASCCEHSA2TSK"  # replace me
DT_PLATFORM_TOKEN = "dt0c01.5S2FFJ2JAAQYILKC5Y3DESYJ.****************************************************************"  # replace me
client = Client(api_key='QGV50Mj0j7hlfY.atlasv1.zKSn5zdcGeTICcQsShpXQqA9waEZei6nas96ydGXveiOn-ZznL-6YcznYQLwivR5E_6')
TFE_TOKEN = "xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
TFE_TOKEN = "${TFE_TOKEN}"  # replace me
OPENAI_ADMIN_KEY = os.environ.get("OPENAI_API_KEY", "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")
OPENAI_KEY = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
OPENAI_ADMIN_KEY = "sk-proj-********************"  # replace me
log = logging.getLogger(__name__)
import os
