from django import forms


class NoteForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        error_messages={"required": "Enter a title for your note"},
    )
    body = forms.CharField(required=False, widget=forms.Textarea)
