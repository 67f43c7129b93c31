from django.utils.translation import gettext_noop

# Every form ends its labels with Django's ``_(":")``. Django's own Chinese catalogue leaves it an
# ASCII colon; ours translates it to the full-width "：" that the rest of the Chinese pages use.
# Named here so that makemessages keeps the entry.
LABEL_SUFFIX = gettext_noop(":")
