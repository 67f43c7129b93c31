"""The forms about lines: adding one (its number, then the code sent to it), and one row of a
staff import."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import CodeField, MobileNumberField
from plans.models import Line


class LineAddForm(forms.Form):
    msisdn = MobileNumberField(label=_("The Boom number to add"))


class LineAddConfirmForm(forms.Form):
    code = CodeField()
    nickname = forms.CharField(
        label=_("Nickname (optional)"), max_length=40, required=False, help_text=_("For example: Mum's phone.")
    )


class LineImportForm(forms.ModelForm):
    """One CSV row of a staff import; the model's validators check the ICCID and EID."""

    class Meta:
        model = Line
        fields = ["msisdn", "iccid", "eid", "smdp_address", "matching_id"]
