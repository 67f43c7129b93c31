from django.urls import path

from accounts import passwords, reauth, views

app_name = "accounts"

urlpatterns = [
    path("language/", views.language_switch, name="language"),
    path("accounts/register/", views.RegisterView.as_view(), name="register"),
    path("accounts/verify/", views.VerifyPhoneView.as_view(), name="verify"),
    path("accounts/verify/resend/", views.verify_resend, name="verify_resend"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/login/code/", views.LoginCodeView.as_view(), name="login_code"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", passwords.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/reset/", views.PasswordResetRequestView.as_view(), name="password_reset"),
    path("accounts/password/reset/confirm/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/settings/", views.PreferencesView.as_view(), name="preferences"),
    path("accounts/confirm/", reauth.reauth, name="reauth"),
    path("accounts/email/", views.EmailChangeView.as_view(), name="email_change"),
    path("accounts/email/confirm/", views.email_confirm, name="email_confirm"),
    path("accounts/security/", views.security, name="security"),
    path("accounts/security/start/", views.two_factor_start, name="two_factor_start"),
    path("accounts/security/setup/", views.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("accounts/security/off/", views.TwoFactorDisableView.as_view(), name="two_factor_disable"),
    path("notices/", views.notices, name="notices"),
    path("notices/read/", views.notices_read, name="notices_read"),
    path("support/", views.support, name="support"),
    path("support/confirm/", views.SupportConfirmView.as_view(), name="support_confirm"),
    path("support/<int:pk>/", views.support_thread, name="support_thread"),
]
